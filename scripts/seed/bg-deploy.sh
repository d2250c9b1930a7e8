#!/bin/bash

# bg-deploy.sh <service-name> <blue-deployment-name> <green-deployment-yaml-path> <green-deployment-name>

SERVICE=$1
BLUEDEPLOYMENTNAME=$2
GREENDEPLOYMENTFILE=$3
GREENDEPLOYMENTNAME=$2

kubectl apply -f $GREENDEPLOYMENTFILE

# Wait until the Green Deployment is ready by checking the MinimumReplicasAvailable condition.
READY=$(kubectl get deploy $GREENDEPLOYMENTNAME -o json | jq '.status.conditions[] | select(.reason == "MinimumReplicasAvailable") | .status' | tr -d '"')
while [[ "$READY" != "True" ]]; do
    READY=$(kubectl get deploy $GREENDEPLOYMENTNAME -o json | jq '.status.conditions[] | select(.reason == "MinimumReplicasAvailable") | .status' | tr -d '"')
    sleep 5
done

# Update the service selector with the new version
kubectl patch svc $SERVICE -p "{\"spec\":{\"selector\": {\"name\": \"${SERVICE}\", \"app\": \"green\"}}}"

# Delete blue deploy [optional]
kubectl delete deploy $BLUEDEPLOYMENTNAME

echo "Done."
