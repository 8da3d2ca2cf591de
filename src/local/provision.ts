// Create the table and queues when missing. Used by the local stack and the tests against any
// DynamoDB / SQS endpoint; on AWS, template.yaml declares the same resources.
import { CreateTableCommand, DescribeTableCommand, waitUntilTableExists, type DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb'
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'

export function tableDefinition (tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'PK', AttributeType: 'S' },
      { AttributeName: 'SK', AttributeType: 'S' },
      { AttributeName: 'GSI1PK', AttributeType: 'S' },
      { AttributeName: 'GSI1SK', AttributeType: 'S' }
    ],
    KeySchema: [{ AttributeName: 'PK', KeyType: 'HASH' }, { AttributeName: 'SK', KeyType: 'RANGE' }],
    GlobalSecondaryIndexes: [{
      IndexName: 'GSI1',
      KeySchema: [{ AttributeName: 'GSI1PK', KeyType: 'HASH' }, { AttributeName: 'GSI1SK', KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'ALL' }
    }]
  }
}

export async function ensureTable (client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }))
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)))
    } catch (e) {
      if ((e as Error).name !== 'ResourceInUseException') throw e
    }
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName })
}

export const AUDIT_MAX_RECEIVE_COUNT = 5

export async function ensureQueues (sqs: SQSClient, baseName: string, visibilityTimeoutSeconds = 30): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${baseName}-dlq`, Attributes: { MessageRetentionPeriod: '1209600' } }))
  const dlqUrl = dlq.QueueUrl as string
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
  const queue = await sqs.send(new CreateQueueCommand({
    QueueName: baseName,
    Attributes: {
      VisibilityTimeout: String(visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ maxReceiveCount: AUDIT_MAX_RECEIVE_COUNT, deadLetterTargetArn: attrs.Attributes?.QueueArn })
    }
  }))
  return { queueUrl: queue.QueueUrl as string, dlqUrl }
}
